// A STAND-IN FOR restic, NOT restic. Used only by scripts/windows-smoke.sh.
//
// Why: a real restic.exe cannot be had on the build machine (no package registry it can reach
// carries one, and Debian's Go packages lack restic's Windows dependencies), yet the agent must be
// shown running a backup on Windows Node.js under Wine. So this program, built for windows/amd64
// with Go's standard library only, answers the few restic commands the agent sends by replaying
// outputs recorded from real restic 0.14 (test/fixtures/restic-0.14, copied beside the exe by the
// smoke script), and checks what the agent passes:
//   - RESTIC_REPOSITORY, and RESTIC_PASSWORD (or the file named by RESTIC_PASSWORD_FILE), from the
//     environment, equal the expected ones;
//   - the password appears in no argument;
//   - the --tag values, in order, equal the expected list;
//   - the paths after the options equal the job's source, byte for byte (C:\Users\Test\Documents).
//
// A failed check exits 1 with "stand-in check failed: ..." on stderr, so the run is recorded
// failed and the smoke test fails. Every call is appended as one JSON line to the log file.
//
// Configuration: standin.json beside the exe (written by the smoke script):
//
//	{"repository": "...", "password": "...", "log": "C:\\...\\calls.jsonl", "replay_dir": "C:\\...",
//	 "jobs": {"C:\\Users\\Test\\Documents": {"tags": ["backup:<uuid>", "backup_name=docs"],
//	          "replay": "12-backup-json-ok", "slow": false}}}
//
// With "slow": true the backup writes a lock (as restic does; `list locks`, `cat lock` show it,
// `unlock` removes it) and prints a status line every 200 ms for up to 10 minutes, to be ended by
// the agent; otherwise it replays <replay>.stdout/.stderr and exits with <replay>.exitcode.
// `cat config` (the agent learns the repository id its leases name) replays 05-cat-config after
// the same repository and password checks.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type jobExpect struct {
	Tags   []string `json:"tags"`
	Replay string   `json:"replay"`
	Slow   bool     `json:"slow"`
}

type config struct {
	Repository string               `json:"repository"`
	Password   string               `json:"password"`
	Log        string               `json:"log"`
	ReplayDir  string               `json:"replay_dir"`
	Jobs       map[string]jobExpect `json:"jobs"`
}

type call struct {
	Time    string            `json:"time"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
	Checks  []string          `json:"checks"`
	Verdict string            `json:"verdict"`
}

var cfg config

var snapshotRE = regexp.MustCompile(`"snapshot_id":"([0-9a-f]{8})"`)

// What the current backup call was given, for the snapshot `snapshots --json` answers next.
var backupSeen *struct {
	host  string
	paths []string
	tags  []string
}

// The one lock the stand-in can leave (a killed slow backup), kept beside the call log.
const lockID = "e8b1f42a9b3ee923ec736d73e481160015a29bff696e4bbeff29aa01fee4697b"

func lockFile() string { return cfg.Log + ".lock" }

var rec call

func logCall(verdict string) {
	rec.Verdict = verdict
	if cfg.Log == "" {
		return
	}
	f, err := os.OpenFile(cfg.Log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	b, _ := json.Marshal(rec)
	f.Write(append(b, '\n'))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "stand-in check failed: "+msg)
	logCall("failed: " + msg)
	os.Exit(1)
}

// replay writes <name>.stdout and <name>.stderr and exits with <name>.exitcode.
func replay(name string) {
	base := filepath.Join(cfg.ReplayDir, name)
	out, err := os.ReadFile(base + ".stdout")
	if err != nil {
		fail("replay " + name + ": " + err.Error())
	}
	errOut, _ := os.ReadFile(base + ".stderr")
	codeText, _ := os.ReadFile(base + ".exitcode")
	code, err := strconv.Atoi(strings.TrimSpace(string(codeText)))
	if err != nil {
		fail("replay " + name + ": bad exit code file")
	}
	if m := snapshotRE.FindSubmatch(out); m != nil && backupSeen != nil {
		snap, _ := json.Marshal([]map[string]interface{}{{"id": string(m[1]) + strings.Repeat("0", 56), "short_id": string(m[1]),
			"time": time.Now().Format(time.RFC3339Nano), "hostname": backupSeen.host, "paths": backupSeen.paths, "tags": backupSeen.tags}})
		os.WriteFile(cfg.Log+".snapshots", snap, 0o600)
	}
	os.Stdout.Write(out)
	os.Stderr.Write(errOut)
	logCall("replayed " + name + " exit " + strconv.Itoa(code))
	os.Exit(code)
}

func main() {
	exe, _ := os.Executable()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(exe), "standin.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "restic stand-in: cannot read standin.json beside the exe:", err)
		os.Exit(1)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "restic stand-in: standin.json:", err)
		os.Exit(1)
	}
	args := os.Args[1:]
	rec = call{Time: time.Now().UTC().Format(time.RFC3339Nano), Args: args, Env: map[string]string{}}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(strings.ToUpper(kv), "RESTIC_") {
			k := kv[:strings.Index(kv, "=")]
			v := kv[len(k)+1:]
			if strings.EqualFold(k, "RESTIC_PASSWORD") {
				v = "<set, " + strconv.Itoa(len(v)) + " chars>"
			}
			rec.Env[k] = v
		}
	}
	for _, a := range args {
		if cfg.Password != "" && strings.Contains(a, cfg.Password) {
			fail("the repository password appears in the arguments")
		}
	}
	if len(args) == 0 {
		fail("no command")
	}
	switch args[0] {
	case "version":
		replay("01-version")
	case "unlock":
		os.Remove(lockFile())
		replay("31-unlock")
	case "list":
		if len(args) > 1 && args[1] == "locks" {
			if _, err := os.Stat(lockFile()); err == nil {
				fmt.Println(lockID)
				logCall("one lock listed")
			} else {
				logCall("no locks")
			}
			os.Exit(0)
		}
	case "cat":
		if len(args) > 1 && args[1] == "config" {
			// The agent learns the repository's id (its leases and runs name it, issue 18).
			checkRepository()
			replay("05-cat-config")
		}
		if len(args) > 1 && args[1] == "lock" {
			b, err := os.ReadFile(lockFile())
			if err != nil {
				fmt.Fprintln(os.Stderr, "Fatal: no matching ID found")
				logCall("cat lock: none")
				os.Exit(1)
			}
			os.Stdout.Write(b)
			logCall("cat lock")
			os.Exit(0)
		}
	case "backup":
		backup(args[1:])
	case "snapshots":
		// The agent reads back the snapshot a backup made (its tag check): answer with what that
		// backup was given, remembered by replay().
		b, err := os.ReadFile(cfg.Log + ".snapshots")
		if err != nil {
			b = []byte("[]")
		}
		os.Stdout.Write(b)
		logCall("snapshots from the last backup")
		os.Exit(0)
	}
	fail("unsupported command for the stand-in: " + strings.Join(args, " "))
}

// Options of `restic backup` that take a value (restic 0.14 cmd_backup.go and global flags).
var valued = map[string]bool{
	"--tag": true, "--host": true, "--exclude": true, "--iexclude": true, "--exclude-file": true,
	"--iexclude-file": true, "--files-from": true, "--files-from-raw": true, "--files-from-verbatim": true,
	"--parent": true, "--exclude-larger-than": true, "--time": true, "--stdin-filename": true,
	"--cache-dir": true, "--password-file": true, "--password-command": true, "--repo": true, "-r": true,
	"--limit-upload": true, "--limit-download": true, "--option": true, "-o": true, "--exclude-if-present": true,
	"--read-concurrency": true, "--compression": true, "--pack-size": true,
}

// checkRepository: the repository and its password come from the environment, as the agent gives them.
func checkRepository() {
	if os.Getenv("RESTIC_REPOSITORY") != cfg.Repository {
		fail(fmt.Sprintf("RESTIC_REPOSITORY is %q, expected %q", os.Getenv("RESTIC_REPOSITORY"), cfg.Repository))
	}
	rec.Checks = append(rec.Checks, "repository from the environment")
	password := os.Getenv("RESTIC_PASSWORD")
	if file := os.Getenv("RESTIC_PASSWORD_FILE"); password == "" && file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			fail("RESTIC_PASSWORD_FILE " + file + ": " + err.Error())
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if password != cfg.Password {
		fail("neither RESTIC_PASSWORD nor RESTIC_PASSWORD_FILE gives the expected password")
	}
	rec.Checks = append(rec.Checks, "password only in the environment")
}

func backup(args []string) {
	checkRepository()
	var tags, paths []string
	jsonFlag := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			paths = append(paths, args[i+1:]...)
			i = len(args)
		case a == "--json":
			jsonFlag = true
		case a == "--tag" && i+1 < len(args):
			tags = append(tags, args[i+1])
			i++
		case strings.HasPrefix(a, "--tag="):
			tags = append(tags, a[len("--tag="):])
		case valued[a]:
			i++
		case strings.HasPrefix(a, "-"):
		default:
			paths = append(paths, a)
		}
	}
	if !jsonFlag {
		fail("--json missing")
	}
	if len(paths) != 1 {
		fail(fmt.Sprintf("expected one path, got %q", paths))
	}
	job, ok := cfg.Jobs[paths[0]]
	if !ok {
		fail(fmt.Sprintf("path %q is not one of the expected sources", paths[0]))
	}
	rec.Checks = append(rec.Checks, "path unchanged: "+paths[0])
	if strings.Join(tags, "\x00") != strings.Join(job.Tags, "\x00") {
		fail(fmt.Sprintf("tags %q, expected %q in this order", tags, job.Tags))
	}
	rec.Checks = append(rec.Checks, "tags in order")
	if job.Slow {
		// Leave a lock behind as restic does when it is killed (restic 0.14 lock JSON fields).
		host, _ := os.Hostname()
		user := os.Getenv("USERNAME")
		lock, _ := json.Marshal(map[string]interface{}{"time": time.Now().Format(time.RFC3339Nano), "exclusive": false,
			"hostname": host, "username": user, "pid": os.Getpid(), "uid": 0, "gid": 0})
		os.WriteFile(lockFile(), lock, 0o600)
		logCall("slow backup started, lock written")
		deadline := time.Now().Add(10 * time.Minute)
		for time.Now().Before(deadline) {
			fmt.Println(`{"message_type":"status","percent_done":0.1,"total_files":10,"files_done":1}`)
			time.Sleep(200 * time.Millisecond)
		}
		fail("slow backup was never stopped")
	}
	host := ""
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--host" {
			host = args[i+1]
		}
	}
	backupSeen = &struct {
		host  string
		paths []string
		tags  []string
	}{host, paths, tags}
	replay(job.Replay)
}
