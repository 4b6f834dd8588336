import sys

from grimoire.bench.arima import main

main(sys.argv[1:])
