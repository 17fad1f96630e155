"""Storage: Arrow schemas, atomic Parquet tables, WebDataset shards, and ``open_dataset``."""
