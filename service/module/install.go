package module

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Limits of an installation: a module is copied into GPM_HOME, so a source must not fill the disk nor the inode
// table (an archive is a gzip stream: a few KB may expand to gigabytes).
const (
	MaxInstallBytes   = 256 << 20 // bytes of the files of one module, uncompressed
	MaxInstallEntries = 20000     // files, directories and links of one module
)

// Errors of an installation, for errors.Is.
var (
	// ErrTooLarge: the source is over MaxInstallBytes or MaxInstallEntries; the message names which.
	ErrTooLarge = errors.New("module too large")
	// ErrUnsafePath: an archive or directory entry would land outside the module's directory (an absolute name,
	// a .. component, a link that points out) or is not a file, directory or link.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrNoManifest: a directory or archive without gpm-module.json at its top.
	ErrNoManifest = errors.New("no " + ManifestName)
)

// Options tune Install.
type Options struct {
	// Npm is the npm command for a source that is a package name; "" looks "npm" up in PATH.
	Npm string
	// Output receives npm's output; nil discards it.
	Output io.Writer
}

// Install installs source as a module under home/modules/<name> and returns its manifest. source is a directory
// with gpm-module.json, a .tar.gz (or .tgz) with it at its top (or in its one top directory, as `npm pack` makes
// them), an executable file (a module named after it, running it with no arguments), or else an npm package name
// (`npm install --prefix`; the module runs `node <the package's main>` and takes package.json's "config" as its
// default settings); a directory or archive with a package.json and no manifest is a PM2 module run the same way
// (its dependencies must be in it: npm is not run). The files are copied: the source may go afterwards. A module of the same name is replaced,
// only once the new one is complete; on any error nothing under home has changed.
func Install(home, source string, o Options) (Manifest, error) {
	dir := filepath.Join(home, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("install %s: %w", source, err)
	}
	staging, err := os.MkdirTemp(dir, ".install-")
	if err != nil {
		return Manifest{}, fmt.Errorf("install %s: %w", source, err)
	}
	defer os.RemoveAll(staging)
	top, err := fill(staging, source, o)
	if err != nil {
		return Manifest{}, fmt.Errorf("install %s: %w", source, err)
	}
	m, err := ReadManifest(top)
	if errors.Is(err, fs.ErrNotExist) {
		// A PM2 module's own tree (a checkout, an `npm pack` tarball): package.json stands for the manifest.
		if m, err = fromPackage(top, "."); err == nil {
			err = writeManifest(top, m)
		} else if errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("install %s: %w (nor a package.json) at its top", source, ErrNoManifest)
		}
	}
	if err != nil {
		return m, fmt.Errorf("install %s: %w", source, err)
	}
	if err := os.Chmod(top, 0o755); err != nil {
		return m, fmt.Errorf("install %s: %w", source, err)
	}
	dest := Path(home, m.Name)
	// Move the old copy aside first: rename cannot replace a non-empty directory.
	var old string
	if _, err := os.Lstat(dest); err == nil {
		old = filepath.Join(staging, ".old")
		if err := os.Rename(dest, old); err != nil {
			return m, fmt.Errorf("install %s: replace %s: %w", source, dest, err)
		}
	}
	if err := os.Rename(top, dest); err != nil {
		if old != "" {
			os.Rename(old, dest)
		}
		return m, fmt.Errorf("install %s: %w", source, err)
	}
	return m, nil
}

// Remove deletes the files of module name; ErrNotInstalled when there are none.
func Remove(home, name string) error {
	if _, err := Read(home, name); errors.Is(err, ErrNotInstalled) {
		return err
	}
	p := Path(home, name)
	// Renamed first, so that a removal cut short leaves no half module under its name.
	gone, err := os.MkdirTemp(filepath.Join(home, Dir), ".remove-")
	if err != nil {
		return fmt.Errorf("uninstall %s: %w", name, err)
	}
	if err := os.Rename(p, filepath.Join(gone, name)); err != nil {
		os.Remove(gone)
		return fmt.Errorf("uninstall %s: %w", name, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("uninstall %s: %w", name, err)
	}
	return nil
}

// fill puts source's files into staging and returns the directory that holds the manifest.
func fill(staging, source string, o Options) (string, error) {
	fi, err := os.Stat(source)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	root := filepath.Join(staging, "m")
	if err := os.Mkdir(root, 0o700); err != nil {
		return "", err
	}
	switch {
	case err != nil:
		if !npmName().MatchString(source) {
			return "", fmt.Errorf("no such file or directory, and not an npm package name")
		}
		return root, npmInstall(root, source, o)
	case fi.IsDir():
		if err := copyTree(root, source); err != nil {
			return "", err
		}
	case strings.HasSuffix(source, ".tar.gz") || strings.HasSuffix(source, ".tgz"):
		if err := extract(root, source); err != nil {
			return "", err
		}
		return archiveTop(root), nil
	case fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0:
		return root, single(root, source)
	default:
		return "", fmt.Errorf("expected a directory, a .tar.gz, an executable or an npm package name")
	}
	return root, nil
}

// archiveTop is where an extracted archive's manifest is: at its top, or in its only directory (npm pack's
// package/, a GitHub tarball's name-version/).
func archiveTop(root string) string {
	if _, err := os.Lstat(filepath.Join(root, ManifestName)); err == nil {
		return root
	}
	ents, err := os.ReadDir(root)
	if err == nil && len(ents) == 1 && ents[0].IsDir() {
		return filepath.Join(root, ents[0].Name())
	}
	return root
}

// budget counts what an installation wrote against its limits.
type budget struct {
	bytes   int64
	entries int
}

func (b *budget) entry() error {
	b.entries++
	if b.entries > MaxInstallEntries {
		return fmt.Errorf("%w: more than %d entries (module.MaxInstallEntries)", ErrTooLarge, MaxInstallEntries)
	}
	return nil
}

// copyFile writes r into name under root (no link followed out of it), mode perm, counting bytes.
func (b *budget) copyFile(root *os.Root, name string, r io.Reader, perm fs.FileMode) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm&0o755|0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, MaxInstallBytes-b.bytes+1))
	b.bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if b.bytes > MaxInstallBytes {
		return fmt.Errorf("%w: more than %d bytes (module.MaxInstallBytes)", ErrTooLarge, MaxInstallBytes)
	}
	return nil
}

// checkName refuses an entry name that is absolute or climbs with ..; it returns the name cleaned, "" for the top.
func checkName(name string) (string, error) {
	name = strings.TrimPrefix(name, "./")
	if name == "" || name == "." {
		return "", nil
	}
	if path.IsAbs(name) || strings.HasPrefix(name, `\`) || filepath.VolumeName(name) != "" {
		return "", fmt.Errorf("%w: %q is absolute", ErrUnsafePath, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q has a .. component", ErrUnsafePath, name)
		}
	}
	return path.Clean(name), nil
}

// checkLink refuses a symbolic link at name whose target is absolute or leads out of the module.
func checkLink(name, target string) error {
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) {
		return fmt.Errorf("%w: link %q points to %q, outside the module", ErrUnsafePath, name, target)
	}
	if j := path.Join(path.Dir(name), target); j == ".." || strings.HasPrefix(j, "../") {
		return fmt.Errorf("%w: link %q points to %q, outside the module", ErrUnsafePath, name, target)
	}
	return nil
}

// underLink refuses an entry whose name passes through a link an earlier entry made. checkLink judges a link's
// target from the link's name; an entry named through a link ("s" -> ".", then "s/s/s/x") lands where that link
// leads, shallower than its name says, so a link it makes could point out of the module ("s/s/up" -> "../.."),
// and the manifest written for a package.json could go through one to a file outside. os.Root keeps a write
// inside, but it follows links inside, which is all this needs.
func underLink(root *os.Root, name string) error {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if fi, err := root.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w: %q is under the symbolic link %q", ErrUnsafePath, name, dir)
		}
	}
	return nil
}

// extract unpacks the gzipped tar file into dir: directories, regular files and links that stay inside; anything
// else is refused (ErrUnsafePath), and so is a tree over the limits (ErrTooLarge).
func extract(dir, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(zr)
	var b budget
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // pax metadata of the archive (git archive writes one), no file
		}
		if err := b.entry(); err != nil {
			return err
		}
		name, err := checkName(h.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if err := underLink(root, name); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, 0o755)
		case tar.TypeReg:
			if err = root.MkdirAll(path.Dir(name), 0o755); err == nil {
				err = b.copyFile(root, name, tr, fs.FileMode(h.Mode))
			}
		case tar.TypeSymlink:
			if err = checkLink(name, h.Linkname); err == nil {
				if err = root.MkdirAll(path.Dir(name), 0o755); err == nil {
					err = root.Symlink(h.Linkname, name)
				}
			}
		default:
			return fmt.Errorf("%w: %q is not a file, directory or symbolic link (tar type %q)", ErrUnsafePath, h.Name, h.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

// copyTree copies the directory src into dir, with extract's rules: a link is copied as a link, and only if it
// stays inside.
func copyTree(dir, src string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var b budget
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name, err := checkName(filepath.ToSlash(rel))
		if err != nil || name == "" {
			return err
		}
		if err := b.entry(); err != nil {
			return err
		}
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := checkLink(name, filepath.ToSlash(target)); err != nil {
				return err
			}
			return root.Symlink(target, name)
		case e.IsDir():
			return root.Mkdir(name, 0o755)
		case e.Type().IsRegular():
			fi, err := e.Info()
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return b.copyFile(root, name, f, fi.Mode().Perm())
		}
		return fmt.Errorf("%w: %s is not a file, directory or symbolic link", ErrUnsafePath, p)
	})
}

// single makes a module of one executable: named after the file (without its extension), running it.
func single(dir, file string) error {
	base := filepath.Base(file)
	m := Manifest{Name: strings.TrimSuffix(base, filepath.Ext(base)), Command: []string{"./" + base}}
	if err := m.Check(); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var b budget
	if err := b.copyFile(root, base, f, 0o755); err != nil {
		return err
	}
	return writeManifest(dir, m)
}

func writeManifest(dir string, m Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestName), append(data, '\n'), 0o644)
}

// npmName is an npm package name, with an optional scope and version (never an option or a path: it is given to
// npm as an argument).
var npmName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*(@[A-Za-z0-9._^~<>=*|+ -]+)?$`)
}) // on first use: package inits run on every CLI call

// npmInstall installs the npm package spec into dir and writes a manifest that runs its main file with node.
func npmInstall(dir, spec string, o Options) error {
	npm := o.Npm
	if npm == "" {
		p, err := exec.LookPath("npm")
		if err != nil {
			return fmt.Errorf("not a file or directory; as an npm package name, it needs npm, which is not in PATH: %w", err)
		}
		npm = p
	}
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	cmd := exec.Command(npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--", spec)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install %s: %w", spec, err)
	}
	pkg := spec
	if i := strings.LastIndexByte(pkg, '@'); i > 0 {
		pkg = pkg[:i]
	}
	m, err := fromPackage(dir, path.Join("node_modules", pkg))
	if err != nil {
		return fmt.Errorf("npm package %s: %w", pkg, err)
	}
	return writeManifest(dir, m)
}

// fromPackage makes the manifest of the Node package in dir/rel (a PM2 module): its name without the scope, its
// version, `node <main>`, and package.json's "config" as the default settings (what PM2's pmx.initModule reads).
func fromPackage(dir, rel string) (Manifest, error) {
	var m Manifest
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel), "package.json"))
	if err != nil {
		return m, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxManifest+1))
	if err != nil {
		return m, err
	}
	if len(b) > MaxManifest {
		return m, fmt.Errorf("package.json: over %d bytes (module.MaxManifest)", MaxManifest)
	}
	var pj struct {
		Name    string         `json:"name"`
		Version string         `json:"version"`
		Main    string         `json:"main"`
		Config  map[string]any `json:"config"`
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		return m, fmt.Errorf("package.json: %w", err)
	}
	main := pj.Main
	if main == "" {
		main = "index.js"
	}
	if _, err := checkName(filepath.ToSlash(main)); err != nil {
		return m, fmt.Errorf("package.json: main: %w", err)
	}
	m = Manifest{Name: pj.Name[strings.LastIndexByte(pj.Name, '/')+1:], Version: pj.Version, Settings: pj.Config,
		Command: []string{"node", path.Join(rel, filepath.ToSlash(main))}}
	if err := m.Check(); err != nil {
		return m, fmt.Errorf("package.json: %w", err)
	}
	return m, nil
}
