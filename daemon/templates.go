package daemon

import (
	"fmt"
	"strings"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/mailer/templates"
)

// LoadTemplates loads the mail templates with cfg's overrides, as serve
// does; check-config calls it too, so what it passes serve accepts. The
// error names the config key.
func LoadTemplates(cfg *config.Config) (*templates.Set, error) {
	tpl, err := templates.New(cfg.Server.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("server.templates_dir: %s", strings.TrimPrefix(err.Error(), "templates: "))
	}
	return tpl, nil
}
