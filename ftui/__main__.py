from ftui.cli import main

main()
