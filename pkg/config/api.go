package config

// API is everything the api reads from the environment: the pieces it is built from.
type API struct {
	Database
	Redis
	Cache
	HTTP
	Metrics
	Shutdown
	Log
	Queue
	Auth
	CacheEncryption
	RateLimit
	Browser
	Admin
	Exams
}
