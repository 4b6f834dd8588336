import sys

from grimoire.bench.optim import main

main(sys.argv[1:])
