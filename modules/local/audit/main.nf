// Re-check a partition independently; the task fails when any homolog pair crosses folds.
process AUDIT {
    tag "${folds.name}"
    label 'process_medium'

    input:
    path proteins
    path folds
    val threshold

    output:
    path 'audit.json', emit: report
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('mmseqs2'), eval('locflow versions mmseqs2'), emit: versions_mmseqs2, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow audit ${proteins} ${folds} --threshold ${threshold} --report audit.json --threads ${task.cpus} ${args}
    """

    stub:
    """
    echo '{}' > audit.json
    """
}
