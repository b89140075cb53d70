package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ecosystemName is the file `gpm ecosystem` writes: JSON with comments, which gpm reads without Node (PM2 writes
// ecosystem.config.js, which gpm can only read where node is installed).
const ecosystemName = "ecosystem.json"

// ecosystemTemplate is a process file to start from, with the fields a PM2 user reaches for first.
const ecosystemTemplate = `// gpm process file (PM2's ecosystem format; comments, single quotes and trailing commas are fine).
// gpm start ecosystem.json [--only api] [--env production]; gpm reload ecosystem.json; gpm delete ecosystem.json
{
  apps: [
    {
      name: 'api',
      script: 'app.js',            // any program: .js node, .py python3, .sh bash, ... or a binary
      args: [],
      instances: 2,                // or 'max'
      exec_mode: 'cluster',
      listen: ['tcp://127.0.0.1:3000'], // gpm binds it once and hands it to every instance (fd 3, LISTEN_FDS)
      wait_ready: false,           // true: online once the app says READY=1 (Node: process.send('ready'))
      max_memory_restart: '300M',
      env: {
        NODE_ENV: 'development',
      },
      env_production: {            // gpm start ecosystem.json --env production
        NODE_ENV: 'production',
      },
    },
    {
      name: 'worker',
      script: 'worker.py',
      watch: false,                // true, or ['src']: restart when files change
      cron_restart: '',            // e.g. '0 3 * * *': restart every night at 3
    },
  ],
}
`

// cmdEcosystem writes a process file to start from, as pm2 ecosystem does; it never overwrites one.
func cmdEcosystem(ctx context.Context, c *cli, args []string) error {
	flags := c.flags("ecosystem")
	if err := c.parse(flags, args); err != nil {
		return err
	}
	path := c.abs(ecosystemName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: gpm ecosystem does not overwrite it", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(ecosystemTemplate); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(c.stdout, "[gpm] wrote %s: edit it, then gpm start %s\n", path, ecosystemName)
	return nil
}
