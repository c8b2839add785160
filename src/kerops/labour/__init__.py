"""Labour: the time technicians log on tickets, and the hourly rates it is costed at."""
