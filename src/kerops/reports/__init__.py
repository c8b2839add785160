"""Reports: files made as jobs (exports too big to answer directly), and scheduled reports."""
