#!/usr/bin/env python
from vaxops.cli import main

if __name__ == "__main__":
    main()
