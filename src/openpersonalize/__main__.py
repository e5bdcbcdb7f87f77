from openpersonalize.cli import main

main()
