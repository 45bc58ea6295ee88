from trastienda.cli import main

main()
