#!/usr/bin/env nextflow
/*
 * locflow: protein subcellular-localization prediction in the manner of DeepLoc 2.0.
 * Parameters are described (and validated by nf-schema) in nextflow_schema.json; see
 * docs/nextflow.md. offline.nf is this script without nf-schema, for machines that cannot reach
 * Nextflow's plugin registry: keep the two alike but for the validation lines.
 */
// Topic channels (the `versions` topic) are a preview feature before Nextflow 25.04.
nextflow.preview.topic = true

include { validateParameters; paramsSummaryLog } from 'plugin/nf-schema'
include { LOCFLOW                              } from './workflows/locflow'

workflow {
    validateParameters()
    log.info(paramsSummaryLog(workflow))
    LOCFLOW()
}
