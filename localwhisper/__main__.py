from localwhisper.cli import main

raise SystemExit(main())
