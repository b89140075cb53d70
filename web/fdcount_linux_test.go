package web

import (
	"os"
	"testing"
)

// countFDs counts what os.ReadDir lists in /proc/self/fd.
func TestCountFDs(t *testing.T) {
	var files []*os.File
	for range 600 { // more than one getdents buffer (8 KB, 24 bytes an entry)
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n, err := countFDs()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ents) {
		t.Errorf("countFDs %d, os.ReadDir %d", n, len(ents))
	}
}
