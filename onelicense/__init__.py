"""onelicense: one merged application, parallel department review, one composite license (一业一证)."""

__version__ = "0.1.0"
