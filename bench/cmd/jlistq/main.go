// Command jlistq reads the output of `gpm jlist` or `pm2 jlist` on stdin and answers one question about it. The
// benchmark polls jlist in tight loops; jq 1.6 needs about 20 ms just to start, more than gpm's whole jlist, so a
// poll through jq would measure jq.
//
//	jlistq online      how many processes are online
//	jlistq count       how many processes there are
//	jlistq app NAME    "ID PID STATUS" of the first process named NAME
//
// gpm puts id, pid and status at the top level; PM2 has pm_id and pid there and the status in pm2_env.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

type proc struct {
	ID     *int   `json:"id"`
	PMID   *int   `json:"pm_id"`
	Name   string `json:"name"`
	PID    int    `json:"pid"`
	Status string `json:"status"`
	PM2Env struct {
		Status string `json:"status"`
	} `json:"pm2_env"`
}

func (p *proc) id() int {
	switch {
	case p.ID != nil:
		return *p.ID
	case p.PMID != nil:
		return *p.PMID
	}
	return -1
}

func (p *proc) status() string {
	if p.Status != "" {
		return p.Status
	}
	return p.PM2Env.Status
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var list []proc
	if err := json.NewDecoder(os.Stdin).Decode(&list); err != nil {
		fmt.Fprintln(os.Stderr, "jlistq: stdin is not a jlist array:", err)
		fmt.Println(-1)
		os.Exit(1)
	}
	switch os.Args[1] {
	case "online":
		n := 0
		for i := range list {
			if list[i].status() == "online" {
				n++
			}
		}
		fmt.Println(n)
	case "count":
		fmt.Println(len(list))
	case "app":
		if len(os.Args) != 3 {
			usage()
		}
		for i := range list {
			if p := &list[i]; p.Name == os.Args[2] {
				fmt.Println(p.id(), p.PID, p.status())
				return
			}
		}
		fmt.Fprintf(os.Stderr, "jlistq: no process named %q\n", os.Args[2])
		os.Exit(1)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: jlistq online | count | app NAME  (jlist JSON on stdin)")
	os.Exit(2)
}
