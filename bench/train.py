import sys

from grimoire.bench.train import main

main(sys.argv[1:])
