module github.com/oeshq/oes/cmd/emailworker

go 1.26.0

require (
	github.com/oeshq/oes/pkg v0.0.0
	github.com/redis/rueidis v1.0.79
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/kelseyhightower/envconfig v1.4.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/oeshq/oes/pkg => ../../pkg

replace github.com/oeshq/oes/db => ../../db
