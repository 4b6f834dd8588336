import sys

from grimoire.bench.linalg import main

main(sys.argv[1:])
