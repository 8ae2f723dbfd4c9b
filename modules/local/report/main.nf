// One HTML page from the evaluation folders (cross-validation and independent test).
process REPORT {
    label 'process_single'

    input:
    path results, stageAs: 'results/*'

    output:
    path 'report.html', emit: html
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow report ${results} --out report.html ${args}
    """

    stub:
    """
    touch report.html
    """
}
