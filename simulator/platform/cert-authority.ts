/**
 * The mock CA that signs device certificates for cert-type products.
 *
 * Node 20's node:crypto can generate keys but has no X.509 builder (X509Certificate only parses),
 * and no certificate library is installed, so keys come from node:crypto and certificates are
 * built by the system `openssl` CLI (OpenSSL 3: `x509 -new -force_pubkey`). Only the device's
 * public key is handed to openssl: device private keys never touch the disk.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const OPENSSL_TIMEOUT_MS = 10_000;
const DEVICE_CERT_DAYS = 3650;

export class CertAuthorityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertAuthorityError";
  }
}

function runOpenssl(args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("openssl", args, { timeout: OPENSSL_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new CertAuthorityError(`openssl ${args[0]} failed: ${String(stderr).trim() || error.message}`));
      else resolve(String(stdout));
    });
    // openssl may exit before it reads its input (commands that take none): the write then fails
    // with EPIPE, which the exit callback above reports, so it must not crash the process.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(stdin ?? "");
  });
}

/**
 * Device key algorithm: "ec" (P-256, the default) or "rsa" (2048 bits). Moddable's TLS client,
 * and so the ESP32 firmware, can present a client certificate only with an RSA key (its
 * CertificateVerify signs with PKCS#1 v1.5, and its PKCS#8 parser reads RSA keys only).
 */
export type DeviceKeyType = "ec" | "rsa";

function newRsaKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

function newEcKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

const DEVICE_EXTENSIONS = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=clientAuth",
  "subjectKeyIdentifier=hash",
  "authorityKeyIdentifier=keyid",
].join("\n") + "\n";

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export class CertAuthority {
  private constructor(
    private readonly dir: string,
    private readonly ownsDir: boolean,
    readonly caCertPem: string,
    private readonly deviceKeyType: DeviceKeyType = "ec",
  ) {}

  /**
   * Opens the CA kept in `dir` (a data folder's `ca/`), creating it on first start; without a
   * folder the CA lives in a private temporary folder removed by close().
   */
  static async open(dir?: string, deviceKeyType: DeviceKeyType = "ec"): Promise<CertAuthority> {
    const ownsDir = dir === undefined;
    const caDir = dir ?? mkdtempSync(join(tmpdir(), "explorer-xs-ca-"));
    mkdirSync(caDir, { recursive: true, mode: 0o700 });
    const keyFile = join(caDir, "ca.key");
    const certFile = join(caDir, "ca.pem");
    if (!existsSync(keyFile) || !existsSync(certFile)) {
      writeFileSync(keyFile, newEcKeyPair().privatePem, { mode: 0o600 });
      const pem = await runOpenssl([
        "req", "-x509", "-new", "-key", keyFile, "-days", "7300", "-subj", "/O=explorer-xs/CN=explorer-xs mock CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      ]);
      writeFileSync(certFile, pem, { mode: 0o644 });
    }
    const caCertPem = readFileSync(certFile, "utf8");
    new X509Certificate(caCertPem); // throws on a damaged CA file rather than issuing junk
    return new CertAuthority(caDir, ownsDir, caCertPem, deviceKeyType);
  }

  /** A fresh key pair and a client certificate whose CN is the MQTT client id. */
  async issueDeviceCertificate(productId: string, deviceName: string): Promise<IssuedCertificate> {
    const { privatePem, publicPem } = this.deviceKeyType === "rsa" ? newRsaKeyPair() : newEcKeyPair();
    const serial = "0x" + randomBytes(16).toString("hex").replace(/^[89a-f]/, "7"); // positive serial
    const extFile = join(this.dir, "device-ext.cnf");
    if (!existsSync(extFile)) writeFileSync(extFile, DEVICE_EXTENSIONS);
    const pubFile = join(this.dir, `pub-${randomUUID()}.pem`);
    writeFileSync(pubFile, publicPem);
    try {
      const certPem = await runOpenssl([
        "x509", "-new", "-force_pubkey", pubFile, "-subj", `/O=${productId}/CN=${productId}${deviceName}`,
        "-CA", join(this.dir, "ca.pem"), "-CAkey", join(this.dir, "ca.key"), "-days", String(DEVICE_CERT_DAYS),
        "-set_serial", serial, "-extfile", extFile,
      ]);
      return { certPem, keyPem: privatePem };
    } finally {
      unlinkSync(pubFile);
    }
  }

  close(): void {
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
