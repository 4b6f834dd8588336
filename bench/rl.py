import sys

from grimoire.bench.rl import main

main(sys.argv[1:])
