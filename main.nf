#!/usr/bin/env nextflow
/*
 * locflow: protein subcellular-localization prediction in the manner of DeepLoc 2.0.
 * Parameters are described (and validated) by nextflow_schema.json; see docs/nextflow.md.
 */
include { validateParameters; paramsSummaryLog } from 'plugin/nf-schema'
include { LOCFLOW                              } from './workflows/locflow'

workflow {
    main:
    validateParameters()
    log.info(paramsSummaryLog(workflow))
    if (params.backbone != 'cnn' && !params.checkpoint && !params.demo) {
        error("--backbone ${params.backbone} needs --checkpoint: a local folder with its pretrained weights")
    }
    LOCFLOW()

    onComplete:
    if (workflow.success) {
        log.info("locflow: report in ${params.outdir}/report/report.html")
    }
}
