//go:build !gpmnoweb || !unix

package main

// execWebProgram does nothing in a program with the HTTP server (webprogram.go).
func execWebProgram(string) {}
