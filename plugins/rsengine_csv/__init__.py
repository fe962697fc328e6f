"""CSV source for rsengine: streams trades and OHLCV bars from text files.

The reader lives in :mod:`rsengine_csv.reader`; the plugin hooks that register
it as a source come later.
"""
