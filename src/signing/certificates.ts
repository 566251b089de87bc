import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { KEY_USAGE_OIDS } from '../hcert/index.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface GeneratedCertificate {
  der: Uint8Array;
  /** PKCS#8 DER of the private key. */
  pkcs8: Uint8Array;
  notBefore: Date;
  notAfter: Date;
}

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1');

async function exportPair(keys: CryptoKeyPair, cert: x509.X509Certificate): Promise<GeneratedCertificate> {
  return { der: new Uint8Array(cert.rawData), pkcs8: new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), notBefore: cert.notBefore, notAfter: cert.notAfter };
}

/** A self-signed country signing CA (CSCA): the root that DSCs chain to. */
export async function generateCsca(o: { country: string; name: string; now: Date; years: number }): Promise<GeneratedCertificate> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `C=${o.country}, O=Saufconduit, CN=${o.name}`, keys, signingAlgorithm: EC,
    notBefore: o.now, notAfter: new Date(o.now.getTime() + o.years * 365 * 864e5),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return exportPair(keys, cert);
}

/**
 * A document signer certificate (DSC) issued by the CSCA, with the extended key usages for the
 * certificate types it may sign (verifiers refuse other types).
 */
export async function generateDsc(o: { country: string; name: string; now: Date; days: number; csca: { der: Uint8Array; pkcs8: Uint8Array }; types: readonly ('test' | 'vaccination' | 'recovery')[] }): Promise<GeneratedCertificate> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const issuer = new x509.X509Certificate(Uint8Array.from(o.csca.der));
  const issuerKey = await webcrypto.subtle.importKey('pkcs8', Uint8Array.from(o.csca.pkcs8), EC, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `C=${o.country}, O=Saufconduit, CN=${o.name}`, issuer: issuer.subject,
    notBefore: o.now, notAfter: new Date(o.now.getTime() + o.days * 864e5), signingAlgorithm: EC,
    publicKey: keys.publicKey, signingKey: issuerKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(o.types.map((t) => KEY_USAGE_OIDS[t][0]!)),
    ],
  });
  return exportPair(keys, cert);
}

/** Checks that an imported certificate and private key belong together (P-256 only for now). */
export function matchImported(certPem: string, keyPem: string): { der: Uint8Array; pkcs8: Uint8Array; key: KeyObject; notBefore: Date; notAfter: Date } {
  const cert = new X509Certificate(certPem);
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('only P-256 (ES256) document signer keys are supported');
  if (!cert.checkPrivateKey(key)) throw new Error('the private key does not match the certificate');
  return { der: new Uint8Array(cert.raw), pkcs8: new Uint8Array(key.export({ format: 'der', type: 'pkcs8' })), key, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}
