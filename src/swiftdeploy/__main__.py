from swiftdeploy.cli.main import main

main()
