"""Progress against targets (接种进度): denominators (population per division), targets and daily quotas."""
