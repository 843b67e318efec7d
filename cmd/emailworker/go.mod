module github.com/oeshq/oes/cmd/emailworker

go 1.26.0

require (
	github.com/oeshq/oes/pkg v0.0.0
	github.com/redis/rueidis v1.0.79
)

require (
	github.com/kelseyhightower/envconfig v1.4.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/oeshq/oes/pkg => ../../pkg

replace github.com/oeshq/oes/db => ../../db
