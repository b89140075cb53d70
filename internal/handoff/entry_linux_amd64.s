#include "textflag.h"

// _rt0_gpm_handoff is the thin CLI's ELF entry point (make build links it with -E _rt0_gpm_handoff, on
// linux/amd64): a command line that needs gpmd is exec'd into it before the Go runtime starts, which saves `gpm run`
// and `gpm daemon` the thin CLI's own runtime start-up (its initialisation and page faults, 5-6 ms of the 7 that
// handing off from the first package init cost: issue 10). It decides as Needed does, from argv on the initial
// stack (argc, argv[0..argc-1], NULL, envp..., NULL), and passes argv and envp as they are; gpmd is looked for where
// init (handoff_linux.go) looks: beside the executable, then in ../libexec/gpm. Anything else, or a failed exec,
// jumps to the runtime's entry, and the Go hand-offs decide as before. TestEntry (entry_linux_amd64_test.go) keeps
// the command list in step with FullCommands.
TEXT _rt0_gpm_handoff(SB),NOSPLIT|NOFRAME,$0
	MOVB	$1, ·entered(SB)
	MOVQ	0(SP), R12	// argc
	LEAQ	8(SP), R13	// argv
	MOVQ	$1, R15	// the argument read
options:
	CMPQ	R15, R12
	JGE	runtime	// no command
	MOVQ	(R13)(R15*8), SI
	LEAQ	optSystem<>(SB), DI
	CALL	streq<>(SB)
	TESTQ	AX, AX
	JZ	timeout
	INCQ	R15	// --system
	JMP	options
timeout:
	LEAQ	optTimeout<>(SB), DI
	CALL	streq<>(SB)
	TESTQ	AX, AX
	JZ	timeoutEq
	LEAQ	1(R15), AX
	CMPQ	AX, R12
	JGE	runtime	// --timeout is the last argument: it is the command
	ADDQ	$2, R15	// --timeout D
	JMP	options
timeoutEq:
	LEAQ	optTimeoutEq<>(SB), DI
	CALL	longer<>(SB)
	TESTQ	AX, AX
	JZ	command
	INCQ	R15	// --timeout=D
	JMP	options
command:
	LEAQ	fullCommands<>(SB), DI
nextCommand:
	MOVBLZX	(DI), AX
	TESTQ	AX, AX
	JZ	runtime	// the list's end: not a command of gpmd
	CALL	streq<>(SB)
	TESTQ	AX, AX
	JNZ	found
skip:
	MOVBLZX	(DI), AX
	INCQ	DI
	TESTQ	AX, AX
	JNZ	skip
	JMP	nextCommand
found:
	// readlinkat(AT_FDCWD, "/proc/self/exe", exe, exeMax)
	MOVQ	$-100, DI
	LEAQ	procSelfExe<>(SB), SI
	LEAQ	exe<>(SB), DX
	MOVQ	$4000, R10
	MOVQ	$267, AX	// SYS_READLINKAT
	SYSCALL
	CMPQ	AX, $1
	JLT	runtime	// failed, or empty
	CMPQ	AX, $4000
	JGE	runtime	// maybe cut
	LEAQ	exe<>(SB), BX
	MOVBLZX	(BX), R8
	CMPQ	R8, $0x2f	// '/'
	JNE	runtime
	MOVBLZX	-1(BX)(AX*1), R8
	CMPQ	R8, $0x29	// ')': " (deleted)", the file was replaced since
	JEQ	runtime
	MOVB	$0, (BX)(AX*1)
	MOVQ	AX, R14
lastSlash:
	DECQ	R14
	MOVBLZX	(BX)(R14*1), R8
	CMPQ	R8, $0x2f
	JNE	lastSlash
	LEAQ	1(BX)(R14*1), SI
	LEAQ	fullName<>(SB), DI
	CALL	streq<>(SB)
	TESTQ	AX, AX
	JNZ	runtime	// this is gpmd itself
	LEAQ	fullName<>(SB), SI
	LEAQ	1(BX)(R14*1), DI
	CALL	strcpy<>(SB)
	MOVQ	BX, DI
	MOVQ	R13, SI
	LEAQ	8(R13)(R12*8), DX	// envp
	MOVQ	$59, AX	// SYS_EXECVE: returns only when it failed
	SYSCALL
	TESTQ	R14, R14
	JZ	runtime	// the executable is in /
	MOVQ	R14, R15
previousSlash:
	DECQ	R15
	MOVBLZX	(BX)(R15*1), R8
	CMPQ	R8, $0x2f
	JNE	previousSlash
	LEAQ	libexecName<>(SB), SI
	LEAQ	1(BX)(R15*1), DI
	CALL	strcpy<>(SB)
	MOVQ	BX, DI
	MOVQ	R13, SI
	LEAQ	8(R13)(R12*8), DX
	MOVQ	$59, AX
	SYSCALL
runtime:
	JMP	_rt0_amd64_linux(SB)

// streq: AX = 1 if the NUL-terminated strings at SI and DI are equal, else 0. SI and DI are kept; R8-R11 are not.
TEXT streq<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SI, R8
	MOVQ	DI, R9
streqLoop:
	MOVBLZX	(R8), R10
	MOVBLZX	(R9), R11
	CMPQ	R10, R11
	JNE	streqNo
	TESTQ	R10, R10
	JZ	streqYes
	INCQ	R8
	INCQ	R9
	JMP	streqLoop
streqYes:
	MOVQ	$1, AX
	RET
streqNo:
	XORQ	AX, AX
	RET

// longer: AX = 1 if the NUL-terminated string at SI starts with the one at DI and is longer, else 0. SI and DI
// are kept; R8-R11 are not.
TEXT longer<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SI, R8
	MOVQ	DI, R9
longerLoop:
	MOVBLZX	(R9), R11
	TESTQ	R11, R11
	JZ	longerEnd
	MOVBLZX	(R8), R10
	CMPQ	R10, R11
	JNE	longerNo
	INCQ	R8
	INCQ	R9
	JMP	longerLoop
longerEnd:
	MOVBLZX	(R8), R10
	TESTQ	R10, R10
	JZ	longerNo
	MOVQ	$1, AX
	RET
longerNo:
	XORQ	AX, AX
	RET

// strcpy copies the NUL-terminated string at SI, its NUL included, to DI (both moved past it; R8 is not kept).
TEXT strcpy<>(SB),NOSPLIT|NOFRAME,$0
strcpyLoop:
	MOVBLZX	(SI), R8
	MOVB	R8, (DI)
	INCQ	SI
	INCQ	DI
	TESTQ	R8, R8
	JNZ	strcpyLoop
	RET

DATA optSystem<>+0(SB)/9, $"--system\x00"
GLOBL optSystem<>(SB), RODATA, $9
DATA optTimeout<>+0(SB)/8, $"--timeou"
DATA optTimeout<>+8(SB)/2, $"t\x00"
GLOBL optTimeout<>(SB), RODATA, $10
DATA optTimeoutEq<>+0(SB)/8, $"--timeou"
DATA optTimeoutEq<>+8(SB)/3, $"t=\x00"
GLOBL optTimeoutEq<>(SB), RODATA, $11

// FullCommands, each ending with a NUL, then an empty one.
DATA fullCommands<>+0(SB)/8, $"daemon\x00r"
DATA fullCommands<>+8(SB)/8, $"un\x00expor"
DATA fullCommands<>+16(SB)/8, $"t\x00import"
DATA fullCommands<>+24(SB)/8, $"\x00install"
DATA fullCommands<>+32(SB)/2, $"\x00\x00"
GLOBL fullCommands<>(SB), RODATA, $34

DATA procSelfExe<>+0(SB)/8, $"/proc/se"
DATA procSelfExe<>+8(SB)/7, $"lf/exe\x00"
GLOBL procSelfExe<>(SB), RODATA, $15
DATA fullName<>+0(SB)/5, $"gpmd\x00"
GLOBL fullName<>(SB), RODATA, $5
DATA libexecName<>+0(SB)/8, $"libexec/"
DATA libexecName<>+8(SB)/8, $"gpm/gpmd"
DATA libexecName<>+16(SB)/1, $"\x00"
GLOBL libexecName<>(SB), RODATA, $17

// exe is the executable's path, then gpmd's: 4000 bytes of readlink's and room for "libexec/gpm/gpmd".
GLOBL exe<>(SB), NOPTR, $4096
