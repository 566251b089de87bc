import { z } from 'zod';
import { route } from '../route.ts';
import type { FastifyReply } from 'fastify';
import { getPass, issuePass, listPasses, passForPrint, reissuePass, PassRequest, type Issued } from '../../domain/passes.ts';
import { renderPassPdf } from '../../domain/pass-pdf.ts';
import { refreshSigner } from '../../domain/issuer-keys.ts';
import { qrPng } from '../../hcert/qr.ts';
import type { App } from '../../app.ts';

const ResultParams = z.strictObject({ resultId: z.uuid() });
const PassParams = z.strictObject({ passId: z.uuid() });

/** A new pass answers 201; one that was already valid for this source and kind answers 200. */
export function answerIssued(reply: FastifyReply, { existing, ...pass }: Issued): Omit<Issued, 'existing'> {
  if (existing) reply.status(200);
  return pass;
}

/** The signer may lack a DSC rotated in by another process: load it before signing. */
const currentSigner = (app: App) => refreshSigner(app.db, app.fields, app.signer);

/** EU DCC passes: issued from a result, downloaded as QR or PDF, revoked and reissued by the holder. */
export const passRoutes = [
  route<{ resultId: string }, undefined, z.infer<typeof PassRequest>>({
    method: 'POST', url: '/api/results/:resultId/passes', surface: 'records', auth: 'principal', policy: 'pass.issue',
    summary: 'Issues an EU DCC pass from a test result: a test certificate (valid 72 hours after sampling), or a recovery certificate from a positive PCR 11–180 days old. One valid pass per result and kind: issuing again answers the existing one with 200.',
    params: ResultParams, body: PassRequest, successStatus: 201,
    async handler({ app, principal, requestId, params, body, reply }) {
      const signer = await currentSigner(app);
      return answerIssued(reply, await app.uow.run(principal, requestId, (w) => issuePass(w, signer, params.resultId, body.kind)));
    },
  }),
  route({
    method: 'GET', url: '/api/passes', surface: 'records', auth: 'principal', policy: 'pass.list',
    summary: "Passes: a patient's own, or those a pharmacy issued (without the QR text).",
    async handler({ app, principal, requestId }) {
      return { items: await app.uow.read(principal, requestId, (w) => listPasses(w)) };
    },
  }),
  route<{ passId: string }>({
    method: 'GET', url: '/api/passes/:passId', surface: 'records', auth: 'principal', policy: 'pass.read',
    summary: 'One pass with its QR text (HC1:…).', params: PassParams,
    async handler({ app, principal, requestId, params }) {
      return app.uow.read(principal, requestId, (w) => getPass(w, params.passId));
    },
  }),
  route<{ passId: string }>({
    method: 'GET', url: '/api/passes/:passId/qr', surface: 'records', auth: 'principal', policy: 'pass.read',
    summary: 'The pass as a QR code image (PNG).', params: PassParams, produces: 'image/png',
    async handler({ app, principal, requestId, params, reply }) {
      const pass = await app.uow.read(principal, requestId, (w) => getPass(w, params.passId));
      return reply.type('image/png').send(await qrPng(pass.hc1, 6));
    },
  }),
  route<{ passId: string }>({
    method: 'GET', url: '/api/passes/:passId/pdf', surface: 'records', auth: 'principal', policy: 'pass.read',
    summary: "The pass as a PDF in the reader's language: its QR code, what it certifies, when venues accept it, its certificate identifier and issuer.", params: PassParams, produces: 'application/pdf',
    async handler({ app, principal, requestId, params, reply, lang }) {
      const pass = await app.uow.read(principal, requestId, (w) => passForPrint(w, params.passId));
      const pdf = await renderPassPdf({ ...pass, lang });
      // Named in the reader's language: it is the name they will find in their downloads.
      return reply.type('application/pdf').header('content-disposition', `attachment; filename="${lang === 'fr' ? 'passe-sanitaire' : 'health-pass'}-${pass.id.slice(0, 8)}.pdf"`).send(Buffer.from(pdf));
    },
  }),
  route<{ passId: string }>({
    method: 'POST', url: '/api/passes/:passId/reissue', surface: 'records', auth: 'principal', policy: 'pass.reissue',
    summary: 'Revokes a leaked pass (published in the revocation list at once) and issues a new one.', params: PassParams, successStatus: 201,
    async handler({ app, principal, requestId, params }) {
      const signer = await currentSigner(app);
      return app.uow.run(principal, requestId, (w) => reissuePass(w, signer, params.passId));
    },
  }),
];
