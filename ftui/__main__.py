from ftui.launch import main

main()
