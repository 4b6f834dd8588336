import sys

from grimoire.bench.attention import main

main(sys.argv[1:])
