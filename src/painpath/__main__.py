from painpath.cli import main

main()
