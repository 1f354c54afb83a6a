package main

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/emersion/go-imap/v2"
	_ "github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/emersion/go-message"
	_ "github.com/emersion/go-sasl"
	_ "github.com/emersion/go-smtp"
	_ "github.com/jhillyerd/enmime/v2"
	_ "github.com/mattn/go-sqlite3"
)

func main() {}
