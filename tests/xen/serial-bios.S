/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A 64 KiB stand-in firmware for the serial guest of `make check-xen`
 * (tests/xen/guests/serial.cfg, bios_path_override).  hvmloader copies it
 * to 0xF0000-0xFFFFF, as it would SeaBIOS, and jumps to the reset vector
 * F000:FFF0 in real mode.  SeaBIOS itself writes its messages to Xen's
 * debug port 0xe9 on Xen, not to COM1, so this guest is what puts bytes on
 * the UART the device model emulates.  What it does, as a guest OS would:
 *
 *   - programs the 16550 at 0x3f8 (115200 8N1, FIFOs on, DTR and RTS);
 *   - prints "XENDM-CHECK: hello from the guest on COM1" every 2 s;
 *   - echoes every byte it receives, a-z turned to upper case (so the echo
 *     is told apart from a terminal's own);
 *   - when the ACPI power button is pressed (`xl shutdown -F` / `xl trigger
 *     power`: Xen sets PWRBTN_STS in PM1a_STS at 0xb000), prints a line and
 *     powers off by writing SLP_EN with SLP_TYP 0 (S5 in Xen's DSDT) to
 *     PM1a_CNT at 0xb004, the register the device model emulates.
 *
 * It sleeps in HLT between timer ticks (PIT channel 0 at 20 Hz through the
 * 8259 PIC, both emulated by Xen), so it costs almost no CPU: the UART is
 * polled once a tick.
 *
 * Build: as --32, ld -m elf_i386 -Ttext 0, objcopy -O binary (Makefile.am).
 */

#define COM1 0x3f8
#define UART_RBR (COM1 + 0)
#define UART_THR (COM1 + 0)
#define UART_DLL (COM1 + 0)
#define UART_DLM (COM1 + 1)
#define UART_IER (COM1 + 1)
#define UART_FCR (COM1 + 2)
#define UART_LCR (COM1 + 3)
#define UART_MCR (COM1 + 4)
#define UART_LSR (COM1 + 5)
#define LSR_DR 0x01
#define LSR_THRE 0x20

#define PM1A_STS 0xb000 /* Xen's ACPI PM1a event block (ioports location 1) */
#define PM1A_CNT 0xb004 /* forwarded to the device model */
#define PWRBTN_STS 0x0100
#define SLP_EN 0x2000

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_DIVISOR 59659 /* 1193182 Hz / 59659 = 20 Hz */
#define TICKS_PER_HELLO 40 /* 2 s */

#define STACK_TOP 0x7000

    .code16
    .text
    .globl _start
_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ss
    movw $STACK_TOP, %sp
    movw %ax, %es
    movw %cs, %ax
    movw %ax, %ds

    /* UART: divisor 1 (115200), 8N1, FIFOs on and cleared, DTR + RTS */
    movw $UART_LCR, %dx
    movb $0x80, %al
    outb %al, %dx
    movw $UART_DLL, %dx
    movb $0x01, %al
    outb %al, %dx
    movw $UART_DLM, %dx
    xorb %al, %al
    outb %al, %dx
    movw $UART_LCR, %dx
    movb $0x03, %al
    outb %al, %dx
    movw $UART_FCR, %dx
    movb $0x07, %al
    outb %al, %dx
    movw $UART_IER, %dx
    xorb %al, %al
    outb %al, %dx
    movw $UART_MCR, %dx
    movb $0x03, %al
    outb %al, %dx

    /* a stale power-button status (write 1 to clear) */
    movw $PM1A_STS, %dx
    movw $PWRBTN_STS, %ax
    outw %ax, %dx

    movw $hello, %si
    call puts

    /* IVT entry of vector 8 (IRQ0 after the PIC set-up below) */
    movw $timer_isr, %es:(8 * 4)
    movw %cs, %es:(8 * 4 + 2)

    /* 8259 pair: vectors 0x08 / 0x70, cascade on IRQ2, 8086 mode, only IRQ0 */
    movb $0x11, %al
    outb %al, $0x20
    outb %al, $0xa0
    movb $0x08, %al
    outb %al, $0x21
    movb $0x70, %al
    outb %al, $0xa1
    movb $0x04, %al
    outb %al, $0x21
    movb $0x02, %al
    outb %al, $0xa1
    movb $0x01, %al
    outb %al, $0x21
    outb %al, $0xa1
    movb $0xfe, %al
    outb %al, $0x21
    movb $0xff, %al
    outb %al, $0xa1

    /* PIT channel 0: rate generator */
    movb $0x34, %al
    outb %al, $PIT_CMD
    movb $(PIT_DIVISOR & 0xff), %al
    outb %al, $PIT_CH0
    movb $(PIT_DIVISOR >> 8), %al
    outb %al, $PIT_CH0

    xorw %bp, %bp /* ticks since the last hello */
    sti
tick:
    hlt
    /* power button? */
    movw $PM1A_STS, %dx
    inw %dx, %ax
    cmpw $0xffff, %ax /* nobody decodes the port: no ACPI PM here */
    je rx
    testw $PWRBTN_STS, %ax
    jnz power_off
    /* echo what arrived */
rx:
    movw $UART_LSR, %dx
    inb %dx, %al
    testb $LSR_DR, %al
    jz rx_done
    movw $UART_RBR, %dx
    inb %dx, %al
    cmpb $'a', %al
    jb 1f
    cmpb $'z', %al
    ja 1f
    subb $('a' - 'A'), %al
1:
    call putc
    jmp rx
rx_done:
    incw %bp
    cmpw $TICKS_PER_HELLO, %bp
    jb tick
    xorw %bp, %bp
    movw $hello, %si
    call puts
    jmp tick

power_off:
    movw $bye, %si
    call puts
    movw $PM1A_CNT, %dx
    movw $SLP_EN, %ax /* SLP_TYP 0 = S5 */
    outw %ax, %dx
    cli
halt:
    hlt
    jmp halt

/* IRQ0: acknowledge at the PIC; the HLT loop does the work */
timer_isr:
    pushw %ax
    movb $0x20, %al
    outb %al, $0x20
    popw %ax
    iret

/* putc: %al to COM1 once the transmitter holds nothing */
putc:
    pushw %ax
    pushw %dx
    movb %al, %ah
    movw $UART_LSR, %dx
2:
    inb %dx, %al
    testb $LSR_THRE, %al
    jz 2b
    movb %ah, %al
    movw $UART_THR, %dx
    outb %al, %dx
    popw %dx
    popw %ax
    ret

/* puts: the NUL-terminated string at %ds:%si */
puts:
    lodsb
    testb %al, %al
    jz 3f
    call putc
    jmp puts
3:
    ret

hello:
    .asciz "XENDM-CHECK: hello from the guest on COM1\r\n"
bye:
    .asciz "XENDM-CHECK: power button pressed, powering off\r\n"

    /* the reset vector, F000:FFF0 */
    .org 0xfff0
    ljmp $0xf000, $_start
    .org 0x10000
