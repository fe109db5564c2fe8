DROP TABLE legal_holds;
DROP TABLE account_tombstones;
