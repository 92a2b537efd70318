"""Multiprocess mode: file layout, file-backed values, the collector's merge, compaction."""
