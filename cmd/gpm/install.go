//go:build !gpmthin

package main

import (
	"context"
	"fmt"

	"github.com/gpmd/gpm/service/module"
)

// cmdInstall copies the module into GPM_HOME/modules as the user who runs gpm, then has the daemon start it.
func cmdInstall(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("install")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("expected one source: a directory or .tar.gz with %s, an executable, or an npm package name", module.ManifestName)
	}
	m, err := module.Install(c.home, fs.Arg(0), module.Options{Output: c.stderr})
	if err != nil {
		return err
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.ModuleStart(ctx, m.Name); err != nil {
		return fmt.Errorf("module %s installed in %s, but did not start: %w", m.Name, module.Path(c.home, m.Name), err)
	}
	fmt.Fprintf(c.stdout, "[gpm] module %s %s installed in %s\n", m.Name, m.Version, module.Path(c.home, m.Name))
	return c.printModules(ctx)
}
