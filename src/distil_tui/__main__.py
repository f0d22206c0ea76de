from distil_tui.cli import main

raise SystemExit(main())
