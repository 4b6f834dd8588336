import sys

from grimoire.bench.norm import main

main(sys.argv[1:])
