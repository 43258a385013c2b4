import { type FirmwareProfile } from '../profile/index.js'
import { familyOf } from '../families/index.js'

/** Largest CA learn ever uploads (the store-size search's top), with room for PEM. */
const MAX_UPLOAD = 24 * 1024

/**
 * The profile the driver works with while learning: the dialect's grammar with any printable line
 * allowed inside a response (the error lines are what is being learned), no error table, and no
 * store limit of its own (the module's is being measured). A response must still be complete and
 * free of unprintable bytes to count, so a damaged line is a link fault as in a survey.
 */
export function workingProfile(picked: FirmwareProfile): FirmwareProfile {
  return {
    ...picked,
    store: {
      ...picked.store,
      maxCaBytes: Math.min(MAX_UPLOAD, familyOf(picked.dialect).maxCaUploadBytes?.(picked) ?? MAX_UPLOAD),
    },
    responses: { info: [...picked.responses.info, '{text}'], final: picked.responses.final },
    errors: {},
  }
}
