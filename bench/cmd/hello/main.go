// Command hello is the floor of any CLI call in bench/all.sh: a static Go hello-world, built with gpm's own flags
// (CGO_ENABLED=0 -trimpath -ldflags '-s -w'), whose start-up and exit is all a Go CLI cannot avoid.
package main

import "fmt"

func main() {
	fmt.Println("hello, world")
}
