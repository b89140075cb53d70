package dbusapi

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite init/io.gpm.Manager1.xml from InterfacesXML")

// The XML shipped in init/ for others to generate bindings from is the one the daemon serves, and it is well formed.
func TestInterfacesXMLGolden(t *testing.T) {
	path := filepath.Join("..", "init", "io.gpm.Manager1.xml")
	if *update {
		if err := os.WriteFile(path, []byte(InterfacesXML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./dbusapi -run Golden -update writes it)", err)
	}
	if string(got) != InterfacesXML {
		t.Fatalf("%s differs from dbusapi.InterfacesXML: run go test ./dbusapi -run Golden -update", path)
	}
	var node struct {
		Interfaces []struct {
			Name string `xml:"name,attr"`
		} `xml:"interface"`
	}
	if err := xml.Unmarshal([]byte(InterfacesXML), &node); err != nil {
		t.Fatalf("InterfacesXML does not parse: %v", err)
	}
	if len(node.Interfaces) != 2 || node.Interfaces[0].Name != ManagerIf || node.Interfaces[1].Name != ProcessIf {
		t.Fatalf("InterfacesXML has interfaces %+v, want %s and %s", node.Interfaces, ManagerIf, ProcessIf)
	}
	for _, x := range []string{propertiesXML, introspectXML, objectManagerXML} {
		if err := xml.Unmarshal([]byte("<node>"+x+"</node>"), &node); err != nil {
			t.Fatalf("standard interfaces do not parse: %v", err)
		}
	}
}
