package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/gpmd/gpm/service/settings"
)

// cmdSet stores a setting in the daemon (`gpm set logrotate:max_size 10M`; pm2-logrotate:KEY is the same key).
func cmdSet(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("set")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("expected a key and a value: gpm set logrotate:max_size 10M")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	set, err := conn.Set(ctx, fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	printSettings(c, set)
	return nil
}

// cmdGet prints one setting's value, or a module's settings (gpm get MODULE, defaults included), or every setting,
// as KEY: VALUE.
func cmdGet(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("get")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("expected at most one key")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	got, err := conn.Get(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if v, ok := got[settings.Key(fs.Arg(0))]; ok && fs.NArg() == 1 && len(got) == 1 {
		fmt.Fprintln(c.stdout, v)
		return nil
	}
	printSettings(c, got)
	return nil
}

func cmdUnset(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("unset")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("expected one key")
	}
	conn, err := c.client(ctx)
	if err != nil {
		return err
	}
	return conn.Unset(ctx, fs.Arg(0))
}

func printSettings(c *cli, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(c.stdout, "%s: %s\n", k, m[k])
	}
}
