"""Connected accounts' data: profiles and their history, audiences, contents and their metrics over time,
and the jobs that keep them fresh."""
