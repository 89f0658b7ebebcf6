"""The pure core: counts, rates, classification, periods, time, vocabulary, access, errors.

No database, no web: everything here is plain Python over plain values.
"""
