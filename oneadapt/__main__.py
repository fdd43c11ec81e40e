from oneadapt.cli import main

main()
