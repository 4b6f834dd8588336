import sys

from grimoire.bench.ml import main

main(sys.argv[1:])
