import sys

from grimoire.bench.quant import main

main(sys.argv[1:])
