package config

// Admin holds what the api's admin command reads besides the pieces serving uses.
type Admin struct {
	// The password is never taken from the command line, where ps and shell history would
	// show it; its rules are the account's, checked by the command.
	AdminPassword string `envconfig:"OES_ADMIN_PASSWORD" desc:"password of the account 'api admin create' makes, when none is piped on its stdin; read by that command only (secret)"`
}
